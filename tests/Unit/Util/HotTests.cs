using System.Reflection;
using Grouper.Format;
using Grouper.Util;
using Grouper.Writer;
using Xunit;

namespace Grouper.Tests;

/// <summary>The loops a build compiles ahead at the writing phase's start are found, and only marked ones.</summary>
public class HotTests
{
    [Fact]
    public void The_writing_phase_loops_are_found_to_compile_ahead_and_nothing_unmarked_with_them()
    {
        var marked = Hot.Marked(typeof(ShardWriter), typeof(ByteArrayChunk), typeof(FixedWidthChunk), typeof(BooleanChunk), typeof(DecimalChunk),
            typeof(MergeStream), typeof(RunReader)).ToList();
        var names = marked.Select(m => $"{m.DeclaringType!.Name}.{m.Name}").ToHashSet();
        foreach (var loop in new[] { "ShardWriter.WriteAll", "ShardWriter.DecodeRow", "MergeStream.MoveNext", "RunReader.MoveNext",
                     "ByteArrayChunk.AppendBytes", "ByteArrayChunk.AppendCoded", "ByteArrayChunk.AppendKey",
                     "FixedWidthChunk.AppendScalar", "BooleanChunk.AppendScalar", "DecimalChunk.AppendScalar" })
            Assert.Contains(loop, names);
        Assert.DoesNotContain("ShardWriter.FlushRowGroup", names);
        Assert.DoesNotContain("MergeStream.Dispose", names);
        Assert.DoesNotContain("FixedWidthChunk.Encode", names);
        Assert.All(marked, m => Assert.True((m.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0, m.Name));
    }
}
