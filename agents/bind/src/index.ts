export { bindAgent } from './agent.js';
export { BindParams } from './params.js';
export { dnsQuery, formatAnswer } from './dns.js';
