import CLI

#if canImport(Glibc)
    import Glibc
#endif

// Everything lives in the CLI module so tests can drive it; this file only hands over the arguments.
exit(CommandLineTool.main(arguments: Array(CommandLine.arguments.dropFirst())))
