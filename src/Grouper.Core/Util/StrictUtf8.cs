using System.Text;

namespace Grouper.Util;

/// <summary>
/// UTF-8 that throws on invalid bytes and on unpaired surrogates instead of silently storing U+FFFD: every
/// reader and the writer use it, so bad text is an error with its file and line, never a quiet change.
/// </summary>
internal static class StrictUtf8
{
    public static readonly UTF8Encoding Encoding = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
