/// Time arithmetic that cannot trap. Event times lie in years 0000-9999 and every rule span is
/// bounded (see `ParamRange`), so in range these are plain `+`, `-` and `floor`; a result past
/// what `Millis` holds sticks at `Millis.max` ("never": a touch due then does not fire) or
/// `Millis.min`.
extension Millis {
    /// A due time that never comes: touches computed to be due at or past it are not scheduled.
    public static let never = Millis.max

    @inline(__always)
    public func adding(_ span: Millis) -> Millis {
        let (r, overflow) = addingReportingOverflow(span)
        return overflow ? (span > 0 ? .max : .min) : r
    }

    @inline(__always)
    public func subtracting(_ span: Millis) -> Millis {
        let (r, overflow) = subtractingReportingOverflow(span)
        return overflow ? (span > 0 ? .min : .max) : r
    }

    /// `floor(x)` as Millis, clamped to the representable range; NaN is `never`.
    @inline(__always)
    public static func flooring(_ x: Double) -> Millis {
        let f = x.rounded(.down)
        // 2^63 is exactly representable; every Double below it converts without trapping.
        if f >= 9_223_372_036_854_775_808.0 || f.isNaN { return .max }
        if f < -9_223_372_036_854_775_808.0 { return .min }
        return Millis(f)
    }
}
