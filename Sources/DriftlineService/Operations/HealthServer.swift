import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// `/healthz` (the loop is stepping), `/readyz` (partitions assigned, store open) and `/metrics`
/// (Prometheus text format) on the configured address.
enum HealthServer {
    static func application(
        listen: String, status: ServiceStatus, registry: PrometheusCollectorRegistry, logger: Logger
    ) throws -> some ApplicationProtocol {
        let (host, port) = try split(listen)
        let router = Router()
        router.get("/healthz") { _, _ -> Response in
            status.isHealthy() ? text(.ok, "ok\n") : text(.serviceUnavailable, "detector loop stalled\n")
        }
        router.get("/readyz") { _, _ -> Response in
            status.snapshot.ready ? text(.ok, "ready\n") : text(.serviceUnavailable, "not ready: waiting for partitions\n")
        }
        router.get("/metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "driftline"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port
                status.update { $0.httpPort = port }
                logger.info("HTTP listening", metadata: ["address": "\(host):\(port.map(String.init) ?? "?")"])
            },
            logger: logger)
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func split(_ listen: String) throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            throw DetectorServiceError.configuration("http.listen '\(listen)' is not host:port")
        }
        return (String(listen[..<colon]), port)
    }
}
