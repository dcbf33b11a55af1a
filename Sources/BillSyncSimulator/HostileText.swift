/// Line-item text that breaks naive CSV writers, spreadsheets, journals and terminals:
/// separators, quotes, line breaks, formula triggers, bidi marks, emoji, control characters.
/// Served correctly JSON-escaped; a consumer must carry it through intact but harmless.
enum HostileText {
    static let samples: [String] = [
        "Node, cluster, and more, with commas",
        "Plan \"Business\" (the \"best\" one)",
        "First line\nsecond line",
        "Windows line\r\nbreak",
        "=HYPERLINK(\"http://example.invalid\",\"click\")",
        "+1 555 0100 support",
        "-2+3 cmd|' /C calc'!A0",
        "@SUM(A1:A9)",
        "\tindented with a tab",
        "semi;colon;separated",
        "pipe|separated|text",
        "Rocket 🚀 and fire 🔥 usage",
        "\u{200F}right-to-left mark",
        "Zürich – 東京",
        "control\u{01}char\u{1F}acters\u{7F}",
        "back\\slash and ; comment * cleared ! pending",
    ]

    /// The `n`-th sample, cycling.
    static func sample(_ n: Int) -> String {
        samples[n % samples.count]
    }
}
