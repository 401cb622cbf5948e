import DriftlineConfiguration
import Testing

/// The configuration plumbing every service shares.
@Suite struct SharedConfigurationTests {
    @Test(arguments: [
        ("127.0.0.1:9092", HostPort(host: "127.0.0.1", port: 9092)), ("broker-1:19092", HostPort(host: "broker-1", port: 19092)),
        ("[::1]:9464", HostPort(host: "::1", port: 9464)), ("0.0.0.0:0", HostPort(host: "0.0.0.0", port: 0)),
    ])
    func hostPortsParse(_ text: String, _ expected: HostPort) {
        #expect(HostPort(text) == expected)
        #expect(HostPort(text)?.description == text)
    }

    @Test(arguments: ["localhost", ":9092", "host:", "host:65536", "host:-1", "host:http", "two words:80", ""])
    func notHostPorts(_ text: String) {
        #expect(HostPort(text) == nil, "accepted \(text)")
    }

    @Test func durations() {
        #expect(DurationText.milliseconds("500ms") == 500)
        #expect(DurationText.milliseconds("10s") == 10_000)
        #expect(DurationText.milliseconds("5m") == 300_000)
        #expect(DurationText.milliseconds("1h") == 3_600_000)
        #expect(DurationText.milliseconds("30d") == 2_592_000_000)
        for bad in ["10", "ten s", "-1s", "1.5s", "s", "9999999999999999999d"] { #expect(DurationText.milliseconds(bad) == nil, "accepted \(bad)") }
        #expect(Duration.milliseconds(1_500).wholeMilliseconds == 1_500)
        #expect(Duration.seconds(2).wholeMilliseconds == 2_000)
    }

    @Test func kafkaSectionErrorsNameTheKey() throws {
        var settings = KafkaSettings(clientID: "c", groupID: "g")
        let reader = try ConfigReader.document("kafka: {brokers: [a:1, b], groupId: x}")
        #expect(throws: ConfigurationError(key: "kafka.brokers", reason: "'b' is not host:port with a port in 1...65535")) {
            try settings.read(try #require(try reader.mapping("kafka")))
        }
        var good = KafkaSettings(clientID: "c", groupID: "g")
        try good.read(try #require(try ConfigReader.document("kafka: {brokers: 'a:1,b:2', groupId: x}").mapping("kafka")))
        #expect(good.brokers == ["a:1", "b:2"] && good.groupID == "x" && good.clientID == "c")
    }
}
