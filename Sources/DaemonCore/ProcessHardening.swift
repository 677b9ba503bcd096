import CSystem

/// What the daemon does to its own process before it holds a key or an image.
public enum ProcessHardening {
    /// `prctl(PR_SET_DUMPABLE, 0)` (prctl(2)): no core dump of this process (it would hold face images, keys and the
    /// CA's private key), and no ptrace or /proc/PID/mem access for other processes of the same uid. The unit also
    /// sets `LimitCORE=0`. Returns false when the kernel refused.
    @discardableResult
    public static func disableCoreDumps() -> Bool { enrolld_disable_dumps() == 0 }

    /// Whether the process may still be dumped (PR_GET_DUMPABLE).
    public static var isDumpable: Bool { enrolld_is_dumpable() != 0 }
}
