using System.Text.Json;

namespace Grouper.Util;

/// <summary>System.Text.Json's exception messages in the words Grouper's errors use.</summary>
internal static class JsonMessages
{
    /// <summary>
    /// The message without its " LineNumber: 0 | BytePositionInLine: 7." tail (0-based, and the reader's own: a JSON
    /// Lines reader sees one line at a time) and without its closing period, for the caller to place it.
    /// </summary>
    public static string Plain(JsonException ex)
    {
        var why = ex.Message;
        if (why.IndexOf(" LineNumber:", StringComparison.Ordinal) is var cut and >= 0) why = why[..cut];
        return why.TrimEnd('.', ' ');
    }
}
