// taskscope-metrics-example: a service that exports taskscope's metrics to Prometheus
// (PrometheusExport.swift is the README's example) and leaks a task every 300 ms, for the
// end-to-end test that has a real Prometheus scrape it.
//
//     taskscope-metrics-example   prints `ready PORT` (its /metrics port), runs until SIGTERM

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import TaskScope

/// Serves the metrics page on every request.
final class MetricsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let body = metricsPage(registry)
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "Content-Type", value: "text/plain; version=0.0.4")
        head.headers.add(name: "Content-Length", value: "\(body.count)")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// Spawns a task that waits for ever on a channel whose sender is gone: an orphaned channel.
func leakOne(_ number: Int) {
    let (sender, receiver) = TrackedChannel<Int>.make(capacity: 0, name: "replies-\(number)")
    Task.tracked("reply-reader") { _ = try? await receiver.receive() }
    _ = sender
}

do {
    let registry = try startMonitoring()
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .childChannelInitializer { channel in
            channel.pipeline.configureHTTPServerPipeline().flatMap {
                channel.pipeline.addHandler(MetricsHandler(registry: registry))
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    FileHandle.standardOutput.write(Data("ready \(server.localAddress?.port ?? 0)\n".utf8))
    var number = 0
    while true {
        leakOne(number)
        number += 1
        try await Task.sleep(for: .milliseconds(300))
    }
} catch {
    FileHandle.standardError.write(Data("taskscope-metrics-example: \(error)\n".utf8))
    exit(1)
}
