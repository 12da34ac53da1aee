// A registered-buffer client in the manner of io_uring's IORING_REGISTER_BUFFERS: pin a buffer
// with FOLL_LONGTERM, hold it for `holdOps` steps while the device writes into it, unregister.
//
// Planted bug for the example test: with params.bug = 'get' the client holds its buffer with
// get_user_pages_fast() references (the pre-FOLL_PIN way). page_maybe_dma_pinned() cannot see
// them, so writeback cleans a page the device is still writing, and O3 reports it.
import { type ClientContext, defineClient } from 'pinlab';

interface Buffer {
  pages: Int32Array;
  n: number;
  left: number;
}

function unregister(ctx: ClientContext, b: Buffer): void {
  if (b.n === 0) return;
  const k = ctx.kernel;
  ctx.doing('deregister', b.pages[0]!);
  if (ctx.params['bug'] === 'get') {
    for (let i = 0; i < b.n; i++) {
      k.set_page_dirty_lock(b.pages[i]!);
      k.put_page(b.pages[i]!);
    }
  } else {
    k.unpin_user_pages_dirty_lock(b.pages, b.n, true);
  }
  ctx.event('deregister', b.pages[0]!, b.n);
  b.n = 0;
}

export default defineClient<Buffer>({
  name: 'uring',
  setup: (ctx) => ({ pages: new Int32Array(ctx.region.bufferPages), n: 0, left: 0 }),
  step(ctx, b) {
    const k = ctx.kernel;
    if (b.n === 0) {
      const first = ctx.random.int(0, ctx.region.pages - ctx.region.bufferPages);
      ctx.doing('register', first);
      const n =
        ctx.params['bug'] === 'get'
          ? k.get_user_pages_fast(ctx.mm, ctx.addr(first), ctx.region.bufferPages, k.FOLL_WRITE, b.pages)
          : k.pin_user_pages_fast(ctx.mm, ctx.addr(first), ctx.region.bufferPages, k.FOLL_WRITE | k.FOLL_LONGTERM, b.pages);
      if (n > 0) {
        b.n = n;
        b.left = ctx.region.holdOps;
        ctx.stat('registrations');
        ctx.event('register', b.pages[0]!, n);
      }
      return;
    }
    ctx.doing('dma_write', b.pages[0]!);
    ctx.dma.write(b.pages[ctx.random.int(0, b.n - 1)]!);
    if (--b.left <= 0) unregister(ctx, b);
  },
  // Policy revoke (a layout-lease analogue): writeback asks for the buffer back; unregister at once.
  revoke: (ctx, b) => unregister(ctx, b),
  teardown: (ctx, b) => unregister(ctx, b),
});
