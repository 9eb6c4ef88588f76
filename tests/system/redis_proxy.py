"""redis_proxy.py - a TCP proxy for the Redis fault tests: forwards
127.0.0.1:LISTEN to 127.0.0.1:UPSTREAM and holds every chunk going to
Redis for as many seconds as the file --delay holds (read per chunk; a
missing or empty file is 0), so commands are answered that much later and
in order. Runs until SIGTERM."""
import argparse
import asyncio
import time


def delay_of(path):
    try:
        with open(path) as f:
            return float(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0.0


async def pump(reader, writer, delay_file):
    """Copies reader to writer, each chunk delay_file's seconds late (when
    given), keeping order."""
    q = asyncio.Queue()

    async def out():
        while True:
            due, data = await q.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    task = asyncio.ensure_future(out())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            d = delay_of(delay_file) if delay_file else 0.0
            await q.put((time.monotonic() + d, data))
    except ConnectionError:
        pass
    await q.put((0, None))
    try:
        await task
    except ConnectionError:
        pass
    writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--delay", required=True, help="file holding the delay in seconds")
    args = ap.parse_args()

    async def client(cr, cw):
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", args.upstream)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pump(cr, uw, args.delay), pump(ur, cw, None),
                             return_exceptions=True)

    srv = await asyncio.start_server(client, "127.0.0.1", args.listen)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
