export { createProgram, runCli } from './program.js';
export type { CliIo } from './io.js';
export { parseStory, replayStory, MAX_ROUNDS, type Story, type ChapterResult, type Round } from './story.js';
export { renderTimeline } from './commands/demo.js';
