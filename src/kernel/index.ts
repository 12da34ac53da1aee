/** The model of mm, with the kernel's names. */
export * from './constants.js';
export * from './context.js';
export * from './current.js';
export * from './boot.js';
export * from './page.js';
export * from './pin.js';
export * from './alloc.js';
export * from './pgtable.js';
export * from './mm.js';
export * from './filemap.js';
export * from './fault.js';
export * from './gup.js';
export * from './migrate.js';
export * from './rmap.js';
export * from './mmap.js';
