/// The SealKit release: the one place its version is written.
///
/// `sealctl --version`, `sealsim --version`, `sealbench --version` and the C library's
/// `pkg-config --modversion` all print this value, so every part of one build says the same.
public enum SealKitVersion {
    /// The version of this SealKit build, as `MAJOR.MINOR.PATCH` (semantic versioning).
    public static let current = "0.1.0"
}
