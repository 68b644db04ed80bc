import { parseScript, renderScript } from '@paceline/testkit';

describe('scenario scripts', () => {
  const text = '# a comment\ncmd one\n----\nout 1\nout 2\n\ncmd two\n----\n\n# last\ncmd three\n----\nx\n';

  it('parses commands, comments and expected output', () => {
    expect(parseScript(text)).toEqual([
      { comments: ['# a comment'], command: 'cmd one', line: 2, expected: ['out 1', 'out 2'] },
      { comments: [], command: 'cmd two', line: 7, expected: [] },
      { comments: ['# last'], command: 'cmd three', line: 11, expected: ['x'] },
    ]);
  });

  it('renders back to the same text', () => {
    expect(renderScript(parseScript(text))).toBe(text);
  });

  it('names the line of a malformed block', () => {
    expect(() => parseScript('cmd\nnot a separator\n', 'f.txt')).toThrow('f.txt:1: expected "----" after the command "cmd"');
  });
});
