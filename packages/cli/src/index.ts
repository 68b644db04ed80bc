export { createProgram, runCli } from './program.js';
export type { CliIo } from './io.js';
export { applyWhatIf, parseOpFail, type WhatIf } from './whatif.js';
export { parseStory, replayStory, type Story, type ChapterResult } from './story.js';
export { renderTimeline } from './commands/demo.js';
