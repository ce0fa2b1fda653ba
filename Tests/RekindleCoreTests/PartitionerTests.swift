import RekindleCore
import Testing

@Suite struct PartitionerTests {
    /// Values from Kafka's own `UtilsTest` (the Java client), as quoted by other clients' suites.
    @Test(arguments: [
        ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829), ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107), ("1", -1_993_445_489), ("12", 126_087_238), ("123", -267_702_483),
        ("1234", -1_614_185_708), ("12345", -1_188_365_604),
    ])
    func murmur2MatchesTheJavaClient(key: String, expected: Int) {
        #expect(Partitioner.murmur2(Array(key.utf8)) == Int32(expected))
    }

    @Test func murmur2PartitionIsThePositiveHashModuloTheCount() {
        // -973932308 & 0x7fffffff = 1173551340; % 4 = 0, % 7 = 1173551340 % 7.
        #expect(Partitioner.murmur2.partition("21", count: 4) == 1_173_551_340 % 4)
        #expect(Partitioner.murmur2.partition("21", count: 7) == 1_173_551_340 % 7)
    }

    @Test func crc32IsTheIEEEChecksumLikeZlib() {
        #expect(Partitioner.crc32(Array("123456789".utf8)) == 3_421_780_262)
        #expect(Partitioner.crc32.partition("c42", count: 4) == 0)  // zlib.crc32(b"c42") % 4
        #expect(Partitioner.crc32.partition("c1", count: 4) == 1)
    }
}

@Suite struct TriggerIdTests {
    @Test func triggerIdIsTheFirst16BytesOfSHA256OfRuleCustomerMillisTouch() {
        // hashlib.sha256(b"rf.dormant|c42|1778976000000|1").hexdigest()[:32]
        #expect(Trigger.id(ruleId: "rf.dormant", customerId: "c42", firedAt: 1_778_976_000_000, touch: 1)
            == "c44c0d075e01d663e8d7b3a6f36fa8fb")
    }

    /// The input is assembled in a stack buffer with the numbers written by hand: the same bytes
    /// as the interpolated String it replaced for signs, extremes, zero, non-ASCII and long ids.
    @Test(arguments: [
        ("rule.x", "c\u{e9}", Int64(-1), 0, "946beac4a58179ba085619cf6ca9d522"),
        ("r", String(repeating: "k", count: 300), Int64.min, Int.max, "e4f35c3f3abbc0bb640e5b8b76685bd2"),
        ("", "c", Int64(0), 10, "3b4cafbb852a8c72e6b98eef22fcae35"),
        ("a", "b", Int64(1_000_000_000), -3, "a80b5b7a22825f3c8d082aa9a3c67b10"),
    ])
    func triggerIdMatchesPythonsHashOfTheSameText(rule: String, customer: String, at: Int64, touch: Int, expected: String) {
        // hashlib.sha256(f"{rule}|{customer}|{at}|{touch}".encode()).hexdigest()[:32]
        #expect(Trigger.id(ruleId: rule, customerId: customer, firedAt: at, touch: touch) == expected)
    }
}
