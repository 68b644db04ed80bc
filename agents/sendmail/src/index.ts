export { sendmailAgent, queueRunArgs, queuedMessages, SENDMAIL } from './agent.js';
export { SendmailParams, LmtpTarget } from './params.js';
export { instanceOptions, layoutOf, lmtpMailerArgs, mcText, type SendmailLayout } from './config.js';
export { smtpCheck } from './smtp.js';
