import Foundation
import Sandbox
import System

/// A TCP relay on 127.0.0.1 that adds latency and emulated loss between golive and one host.
///
/// This kernel has no `netem` qdisc, so the relay works on the byte stream: every chunk waits
/// `delay` in each direction (a round trip costs twice that), and a chunk "lost" with probability
/// `loss` waits a further retransmission timeout (200-400 ms), which is what a lost segment does
/// to a TCP stream. Order and delivery are kept, as TCP keeps them.
public final class LatencyRelay: @unchecked Sendable {
    /// The port to connect to instead of the host's.
    public let port: Int
    private let process: ChildProcess

    /// Starts a relay to `host:targetPort`.
    public init(to host: String, port targetPort: Int, delay: Duration, loss: Double, seed: Int = 1) throws {
        let directory = try TestHosts.makeTemporaryDirectory(name: "relay")
        let script = directory + "/relay.py"
        try Self.source.write(toFile: script, atomically: true, encoding: .utf8)
        port = try HostTools.freePort()
        let milliseconds = Double(delay.components.seconds) * 1000 + Double(delay.components.attoseconds) / 1e15
        process = try ChildProcess(
            "/usr/bin/python3",
            [script, String(port), host, String(targetPort), String(milliseconds / 1000), String(loss), String(seed)],
            stderr: directory + "/relay.log")
        try HostTools.waitForListener(port: port, prefix: nil)
    }

    deinit { stop() }

    /// Stops the relay (and with it every relayed connection).
    public func stop() {
        process.signal(SIGKILL)
        process.wait()
    }

    static let source = """
        import asyncio, random, sys
        listen, host, port, delay, loss, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
        rng = random.Random(seed)

        async def pump(reader, writer):
            queue = asyncio.Queue()
            async def deliver():
                while True:
                    due, data = await queue.get()
                    if data is None:
                        break
                    wait = due - asyncio.get_running_loop().time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    writer.write(data)
                    await writer.drain()
                writer.close()
            task = asyncio.create_task(deliver())
            last = 0.0
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    now = asyncio.get_running_loop().time()
                    extra = rng.uniform(0.2, 0.4) if rng.random() < loss else 0.0
                    last = max(last, now + delay + extra)
                    await queue.put((last, data))
            finally:
                await queue.put((0, None))
                await task

        async def handle(reader, writer):
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer), return_exceptions=True)

        async def main():
            server = await asyncio.start_server(handle, "127.0.0.1", listen)
            async with server:
                await server.serve_forever()

        asyncio.run(main())
        """
}
