import RekindleCore
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-01-01T00:00:00Z", 1_767_225_600_000),
        ("2026-01-01T00:00:00z", 1_767_225_600_000),
        ("2026-01-01T03:00:00+03:00", 1_767_225_600_000),
        ("2025-12-31T19:30:00-04:30", 1_767_225_600_000),
        ("2026-01-01T00:00:00.5Z", 1_767_225_600_500),
        ("2026-01-01T00:00:00.123Z", 1_767_225_600_123),
        ("2026-01-01T00:00:00.1239999Z", 1_767_225_600_123),  // finer than 1 ms: rounded down
        ("2024-02-29T12:00:00Z", 1_709_208_000_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2026-01-01 00:00:00Z", 1_767_225_600_000),
    ])
    func parsesRFC3339WithOffsetsAndFractions(text: String, expected: Int64) {
        #expect(Timestamp.parse(text) == expected)
    }

    @Test(arguments: [
        "yesterday", "", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00+0300", "2026-01-01T00:00:00Z ",
        "2026-1-01T00:00:00Z", "2026-01-01T00:00:00+24:00",
    ])
    func rejectsWhatIsNotRFC3339WithAZone(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func formatsAsUTCWithMilliseconds() {
        #expect(Timestamp.format(1_767_225_600_000) == "2026-01-01T00:00:00.000Z")
        #expect(Timestamp.format(1_778_976_000_123) == "2026-05-17T00:00:00.123Z")
        #expect(Timestamp.format(-1) == "1969-12-31T23:59:59.999Z")
        for ms: Int64 in [0, 1, 951_782_400_000, 4_102_444_799_999, 1_709_208_000_001] {
            #expect(Timestamp.parse(Timestamp.format(ms)) == ms)
        }
    }
}
