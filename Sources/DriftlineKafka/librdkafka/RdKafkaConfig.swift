import CRdKafka

/// Turns (property, value) pairs into an `rd_kafka_conf_t`, naming the offending property on failure.
enum RdKafkaConfig {
    static func make(_ properties: [(String, String)]) throws(KafkaConfigurationError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { fatalError("rd_kafka_conf_new returned NULL (out of memory)") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
            guard result != RD_KAFKA_CONF_OK else { continue }
            let reason = String(errorBuffer: errorText)
            rd_kafka_conf_destroy(conf)
            if result == RD_KAFKA_CONF_UNKNOWN {
                throw .unknownProperty(key: key, reason: reason)
            }
            throw .invalid(key: key, reason: Self.isSecret(key) ? reason : "\(reason): '\(value)'")
        }
        return conf
    }

    /// Values of these properties never appear in error messages (they end up in logs).
    static func isSecret(_ key: String) -> Bool {
        ["password", "secret", "jaas", "key", "token", "credentials"].contains { key.contains($0) }
    }
}
