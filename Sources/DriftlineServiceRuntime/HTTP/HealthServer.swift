import DriftlineConfiguration
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// What a long-running service tells its HTTP endpoints.
public protocol ServiceHealth: Sendable {
    /// False once the service's loop stalls (`/healthz` then fails).
    func isHealthy() -> Bool
    /// Nil when ready; otherwise why not (`/readyz` shows it).
    func notReadyReason() -> String?
    /// The port the HTTP server bound (a listen port of 0 picks one).
    func httpListening(port: Int?)
}

/// `/healthz`, `/readyz` and `/metrics` (Prometheus text format), the same for every service.
public enum HealthServer {
    public static func application(
        listen: HostPort, health: any ServiceHealth, registry: PrometheusCollectorRegistry, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/healthz") { _, _ -> Response in
            health.isHealthy() ? text(.ok, "ok\n") : text(.serviceUnavailable, "service loop stalled\n")
        }
        router.get("/readyz") { _, _ -> Response in
            health.notReadyReason().map { text(.serviceUnavailable, "not ready: \($0)\n") } ?? text(.ok, "ready\n")
        }
        router.get("/metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "driftline"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port
                health.httpListening(port: port)
                logger.info("HTTP listening", metadata: ["address": "\(listen.host):\(port.map(String.init) ?? "?")"])
            },
            logger: logger)
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
