export { httpdAgent } from './agent.js';
export { HttpdParams } from './params.js';
export { httpGet } from './http.js';
