export { importCib, type CibImport, type ImportIssue } from './import.js';
