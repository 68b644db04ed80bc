/**
 * Default paths of the commands that talk to a node's daemon or share its key. In a module of their
 * own, so that `status`, `node`, `resource` and `witness` do not load the daemon command (and the
 * whole daemon with it) for two strings.
 */
export const DEFAULT_STATE_DIR = process.env['PACELINE_STATE_DIR'] ?? '/var/lib/paceline';
export const DEFAULT_KEY = '/etc/paceline/authkey';
