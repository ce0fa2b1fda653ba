import Foundation

/// glibc's `malloc_trim`, which Swift's Glibc module does not export: returns freed heap pages to
/// the system so a resident-memory delta measures live allocations.
@_silgen_name("malloc_trim")
func releaseFreedMemory(_ pad: Int) -> Int32

/// The process's resident set in bytes, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
        let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// CPU seconds (user + system) the process has used so far, all threads together.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// glibc's `malloc_stats`: each malloc arena's system and in-use bytes, printed to standard error.
@_silgen_name("malloc_stats")
func printMallocStats()
