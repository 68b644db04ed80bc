/** Seeds 501-750 of the simulated fault schedules (see simulated.test.ts). */
import { simSuite } from './sim/suite.js';

simSuite(2);
