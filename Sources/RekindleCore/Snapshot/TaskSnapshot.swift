import Crypto

/// A position in a partition: `offset` is the next offset to read (inputs) or the end offset seen
/// (outputs).
public struct OffsetEntry: Sendable, Equatable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// One checkpoint of one task (spec section 5): whose it is (consumer group, task, rules version),
/// its state, the input offsets it has folded up to, the output offsets it had delivered up to and
/// its watermark. Versioned and checksummed: a truncated, bit-flipped or foreign snapshot is
/// refused, never half-read.
public struct TaskSnapshot: Sendable, Equatable {
    /// The format `encoded()` writes. Format 1 had no consumer group; format 2 puts the group first
    /// in the body. The version in the header decides the layout, and the checksum covers it.
    public static let formatVersion: UInt16 = 2
    public static let readableVersions: ClosedRange<UInt16> = 1...2
    static let magic: [UInt8] = Array("RKSNAP".utf8)

    /// The consumer group whose task this is. Nil only in a format-1 snapshot, which did not record
    /// it: such a snapshot is accepted for its task in any group, as format 1 always was.
    public var groupId: String?
    public var partition: Int32
    /// Increases with every snapshot of the task: the newest good one wins.
    public var sequence: UInt64
    public var rulesVersion: String
    public var watermark: Millis
    public var inputOffsets: [OffsetEntry]
    public var outputOffsets: [OffsetEntry]
    /// `CampaignTask.encodeState()`.
    public var state: [UInt8]

    public init(
        groupId: String, partition: Int32, sequence: UInt64, rulesVersion: String, watermark: Millis,
        inputOffsets: [OffsetEntry], outputOffsets: [OffsetEntry], state: [UInt8]
    ) {
        self.init(
            group: groupId, partition: partition, sequence: sequence, rulesVersion: rulesVersion, watermark: watermark,
            inputOffsets: inputOffsets, outputOffsets: outputOffsets, state: state)
    }

    init(
        group: String?, partition: Int32, sequence: UInt64, rulesVersion: String, watermark: Millis,
        inputOffsets: [OffsetEntry], outputOffsets: [OffsetEntry], state: [UInt8]
    ) {
        self.groupId = group
        self.partition = partition
        self.sequence = sequence
        self.rulesVersion = rulesVersion
        self.watermark = watermark
        self.inputOffsets = inputOffsets
        self.outputOffsets = outputOffsets
        self.state = state
    }

    /// Why this snapshot is not task `task` of consumer group `group`'s, or nil when it is.
    public func foreignness(group: String, task: Int32) -> String? {
        // A format-1 snapshot (no group recorded) is accepted for its task in any group, as
        // format 1 always was: its group is unknown, not different.
        if let groupId, groupId != group { return "belongs to consumer group \"\(groupId)\", not \"\(group)\"" }
        if partition != task { return "belongs to task \(partition), not task \(task)" }
        return nil
    }

    /// `RKSNAP`, format version (2 bytes LE), body length (8 bytes LE), body, first 16 bytes of
    /// SHA-256 over everything before them. Format 2; a snapshot decoded from format 1 has no group
    /// to write and is written as format 1 again, so `decode(encoded())` is always the snapshot.
    public func encoded() -> [UInt8] {
        let version: UInt16 = groupId == nil ? 1 : Self.formatVersion
        var body = ByteWriter()
        if let groupId { body.string(groupId) }
        body.int(partition)
        body.varint(sequence)
        body.string(rulesVersion)
        body.int(watermark)
        for list in [inputOffsets, outputOffsets] {
            body.varint(UInt64(list.count))
            for o in list { body.string(o.topic); body.int(o.partition); body.int(o.offset) }
        }
        body.varint(UInt64(state.count))
        body.bytes.append(contentsOf: state)
        var out = TaskSnapshot.magic
        out.append(UInt8(version & 0xff))
        out.append(UInt8(version >> 8))
        var length = ByteWriter()
        length.fixed64(UInt64(body.bytes.count))
        out.append(contentsOf: length.bytes)
        out.append(contentsOf: body.bytes)
        out.append(contentsOf: SHA256.hash(data: out).prefix(16))
        return out
    }

    /// Reads format 1 or 2; the version in the header decides the layout.
    public static func decode(_ bytes: [UInt8]) throws(SnapshotError) -> TaskSnapshot {
        let header = magic.count + 2 + 8
        guard bytes.count >= header + 16 else { throw SnapshotError("truncated: \(bytes.count) bytes") }
        guard Array(bytes[0..<magic.count]) == magic else { throw SnapshotError("not a Rekindle snapshot") }
        let version = UInt16(bytes[magic.count]) | UInt16(bytes[magic.count + 1]) << 8
        guard readableVersions.contains(version) else {
            throw SnapshotError(
                "format version \(version), this build reads \(readableVersions.lowerBound) to \(readableVersions.upperBound)")
        }
        var lengthReader = ByteReader(Array(bytes[(magic.count + 2)..<header]))
        let length = try lengthReader.fixed64()
        guard UInt64(bytes.count) == UInt64(header) + length + 16 else {
            throw SnapshotError("truncated or padded: \(bytes.count) bytes for a body of \(length)")
        }
        let end = bytes.count - 16
        guard Array(SHA256.hash(data: bytes[0..<end]).prefix(16)) == Array(bytes[end...]) else {
            throw SnapshotError("checksum mismatch")
        }
        var r = ByteReader(Array(bytes[header..<end]))
        // Format 2 only: the consumer group. Format 1 starts with the partition.
        let group: String? = version >= 2 ? try r.string() : nil
        let partition = try r.int32()
        let sequence = try r.varint()
        let rules = try r.string()
        let watermark = try r.int()
        var lists: [[OffsetEntry]] = []
        for _ in 0..<2 {
            var list: [OffsetEntry] = []
            for _ in 0..<(try r.count()) {
                list.append(OffsetEntry(topic: try r.string(), partition: try r.int32(), offset: try r.int()))
            }
            lists.append(list)
        }
        let n = try r.count()
        let state = Array(r.bytes[r.i..<(r.i + n)])
        r.i += n
        guard r.atEnd else { throw SnapshotError("unexpected bytes after the state") }
        return TaskSnapshot(
            group: group, partition: partition, sequence: sequence, rulesVersion: rules, watermark: watermark,
            inputOffsets: lists[0], outputOffsets: lists[1], state: state)
    }
}
