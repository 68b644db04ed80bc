/** Seeds 751-1000 of the simulated fault schedules (see simulated.test.ts). */
import { simSuite } from './sim/suite.js';

simSuite(3);
