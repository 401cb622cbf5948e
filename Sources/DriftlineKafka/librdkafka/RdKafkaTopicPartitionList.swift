import CRdKafka

/// Owns an `rd_kafka_topic_partition_list_t` for the length of one call into librdkafka.
struct RdKafkaTopicPartitionList: ~Copyable {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ offsets: [TopicPartitionOffset]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(clamping: offsets.count))
        for entry in offsets {
            let element = rd_kafka_topic_partition_list_add(pointer, entry.topicPartition.topic, entry.topicPartition.partition)
            element?.pointee.offset = entry.offset
        }
    }

    init(_ partitions: [TopicPartition]) {
        self.init(partitions.map { TopicPartitionOffset($0, offset: KafkaOffset.invalid) })
    }

    init(subscription topics: [String]) {
        self.init(topics.map { TopicPartitionOffset(topic: $0, partition: -1, offset: KafkaOffset.invalid) })
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    var offsets: [TopicPartitionOffset] { Self.offsets(of: pointer) }

    /// The first per-partition error librdkafka left in the list, if any.
    func firstError(operation: String) -> KafkaError? {
        Self.elements(of: pointer).first { $0.err != RD_KAFKA_RESP_ERR_NO_ERROR }.map {
            KafkaError(code: $0.err, operation: "\(operation) for \(String(cString: $0.topic))[\($0.partition)]")
        }
    }

    static func elements(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> UnsafeBufferPointer<rd_kafka_topic_partition_t> {
        UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt))
    }

    static func offsets(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartitionOffset] {
        elements(of: list).map { TopicPartitionOffset(topic: String(cString: $0.topic), partition: $0.partition, offset: $0.offset) }
    }
}
