import DriftlineConfiguration
import DriftlineKafka

extension KafkaSettings {
    /// The librdkafka client settings for this section (group id apart: each consumer names its own).
    public var clientConfiguration: KafkaClientConfiguration {
        KafkaClientConfiguration(brokers: brokers, clientID: clientID, security: security, properties: properties)
    }
}
