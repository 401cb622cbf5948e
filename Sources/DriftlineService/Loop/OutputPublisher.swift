import DriftlineKafka
import Foundation
import Logging
import Synchronization

/// The detector's one producer, for every output topic. A message that cannot be queued or
/// delivered makes the next `flush()` throw, so nothing is committed past an output that was
/// never written. Thread-safe: the source side and the aggregation side both send and flush (a
/// flush waits for the other side's messages too, which only makes it stricter).
final class OutputPublisher: Sendable {
    let producer: KafkaProducer
    private let logger: Logger
    private let queueFailures = Mutex(0)

    init(producer: KafkaProducer, logger: Logger) {
        self.producer = producer
        self.logger = logger
    }

    func send(topic: String, key: String, value: Data) {
        do {
            try producer.send(ProducerRecord(topic: topic, key: Array(key.utf8), value: Array(value)))
        } catch {
            queueFailures.withLock { $0 += 1 }
            logger.error("cannot queue a message for \(topic): \(error)")
        }
    }

    /// Waits until everything queued is acknowledged (blocking: the loop runs on its own executor).
    func flush() throws {
        let failures = queueFailures.withLock { $0 }
        guard producer.queuedMessages > 0 || failures > 0 else { return }
        try producer.flush(timeout: .seconds(120))
        let counts = producer.deliveryCounts
        if counts.failed > 0 || failures > 0 {
            throw DetectorServiceError.deliveryFailed(count: counts.failed + failures, last: counts.lastFailure.map { "\($0)" } ?? "queueing failed")
        }
    }

    /// At shutdown: what is still queued gets 30 s, then the producer closes.
    func close() throws {
        try producer.flush(timeout: .seconds(30))
        try producer.close()
    }

    /// Client errors since the last call: logged; a fatal one stops the detector.
    func checkClientErrors() throws {
        for error in producer.takeClientErrors() {
            if error.isFatal { throw DetectorServiceError.fatalKafka("producer: \(error)") }
            logger.warning("kafka producer: \(error)")
        }
    }
}
