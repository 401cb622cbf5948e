import CRdKafka
import Logging

let librdkafkaLogger = Logger(label: "librdkafka")

/// Forwards librdkafka's log lines (syslog levels) to swift-log instead of raw stderr.
let rdKafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = { _, level, facility, text in
    let message = text.map { String(cString: $0) } ?? ""
    let facilityName = facility.map { String(cString: $0) } ?? ""
    let swiftLevel: Logger.Level = switch level {
    case ...2: .critical
    case 3: .error
    case 4: .warning
    case 5: .notice
    case 6: .info
    default: .debug
    }
    librdkafkaLogger.log(level: swiftLevel, "\(message)", metadata: ["facility": "\(facilityName)"])
}
