/** Seeds 251-500 of the simulated fault schedules (see simulated.test.ts). */
import { simSuite } from './sim/suite.js';

simSuite(1);
