/// Durations as users write them on the command line and in the config: `90s`, `15m`, `6h`, `7d`, `2w`.
public enum DurationText {
    /// Seconds in `text`, or nil when it is not a positive whole number followed by one unit.
    public static func seconds(_ text: String) -> Int? {
        guard let unit = text.last, let number = Int(text.dropLast()), number >= 0 else { return nil }
        switch unit {
        case "s": return number
        case "m": return number * 60
        case "h": return number * 3600
        case "d": return number * 86_400
        case "w": return number * 604_800
        default: return nil
        }
    }
}
