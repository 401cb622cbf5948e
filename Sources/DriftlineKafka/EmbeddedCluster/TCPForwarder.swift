#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Accepts connections on a fixed loopback port and pipes each to a target loopback port. Kafka
/// clients only use the bootstrap address for their first metadata request; the answer names the
/// brokers' real addresses, so forwarding one port is enough to give the embedded cluster a stable address.
final class TCPForwarder: Sendable {
    let listenPort: UInt16
    private let targetPort: UInt16
    private let listener: Int32
    private let openSockets = Mutex<Set<Int32>>([])
    private let acceptorDone = DispatchSemaphore(value: 0)

    init(listenPort: UInt16, targetPort: UInt16) throws {
        self.listenPort = listenPort
        self.targetPort = targetPort
        listener = try Self.listen(port: listenPort)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "driftline-bootstrap-forwarder"
        thread.start()
    }

    func stop() {
        // shutdown wakes the blocked accept(); closing every piped socket ends the pump threads.
        shutdown(listener, Int32(SHUT_RDWR))
        acceptorDone.wait()
        close(listener)
        openSockets.withLock { sockets in sockets.forEach { _ = shutdown($0, Int32(SHUT_RDWR)) } }
    }

    private static func address(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    private static func listen(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ForwarderError.system("socket", errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = address(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw ForwarderError.bind(port: port, code)
        }
        guard Glibc.listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw ForwarderError.system("listen", code)
        }
        return fd
    }

    private func connectToTarget() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = Self.address(port: targetPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 { close(fd); return nil }
        return fd
    }

    private func acceptLoop() {
        defer { acceptorDone.signal() }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return  // listener shut down
            }
            guard let upstream = connectToTarget() else { close(client); continue }
            openSockets.withLock { $0.formUnion([client, upstream]) }
            let remaining = Atomic<Int>(2)
            for (from, to) in [(client, upstream), (upstream, client)] {
                let thread = Thread { [self] in
                    pump(from: from, to: to)
                    // The second direction to finish closes both sockets.
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                        openSockets.withLock { $0.subtract([client, upstream]) }
                        close(client)
                        close(upstream)
                    }
                }
                thread.start()
            }
        }
    }

    private func pump(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        outer: while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            var sent = 0
            while sent < count {
                let written = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                if written < 0, errno == EINTR { continue }
                if written <= 0 { break outer }
                sent += written
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }
}

enum ForwarderError: Error, CustomStringConvertible {
    case bind(port: UInt16, Int32)
    case system(String, Int32)

    var description: String {
        switch self {
        case let .bind(port, code): "cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(code))) (is another Kafka or driftline dev running?)"
        case let .system(call, code): "\(call) failed: \(String(cString: strerror(code)))"
        }
    }
}
