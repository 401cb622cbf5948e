/// What the cluster says about itself: brokers, topics, partitions and their replicas.
public struct ClusterMetadata: Sendable, Equatable {
    public struct Broker: Sendable, Equatable {
        public var id: Int32
        public var host: String
        public var port: Int
        public var address: String { "\(host):\(port)" }
    }

    public struct Partition: Sendable, Equatable {
        public var id: Int32
        public var leader: Int32
        public var replicas: [Int32]
        public var inSyncReplicas: [Int32]
    }

    public struct Topic: Sendable, Equatable {
        public var name: String
        /// Set when the cluster reports the topic but cannot describe it (e.g. still being created).
        public var error: KafkaError?
        public var partitions: [Partition]
    }

    public var brokers: [Broker]
    public var topics: [Topic]
    public var originatingBrokerID: Int32

    public func topic(_ name: String) -> Topic? { topics.first { $0.name == name } }
}

/// The first offset still stored and the offset the next produced message will get.
public struct Watermarks: Sendable, Equatable {
    public var low: Int64
    public var high: Int64
    public var messageCount: Int64 { high - low }

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}
