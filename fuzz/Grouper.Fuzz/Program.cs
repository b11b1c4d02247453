using Grouper.Fuzz;
using SharpFuzz;

// Coverage-guided fuzzing with SharpFuzz (see fuzz/README.md):
//   dotnet publish fuzz/Grouper.Fuzz -c Release -o fuzz/out
//   sharpfuzz fuzz/out/Grouper.Core.dll
//   libfuzzer-dotnet --target_path=fuzz/out/Grouper.Fuzz --target_arg=csv fuzz/corpus/csv
var target = args.Length > 0 ? args[0] : throw new ArgumentException("usage: Grouper.Fuzz <" + string.Join("|", FuzzTargets.Names) + ">");
Fuzzer.LibFuzzer.Run(span => FuzzTargets.Run(target, span));
