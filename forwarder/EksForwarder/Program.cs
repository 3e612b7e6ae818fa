using Mesh.EksForwarder;

if (ForwarderHost.Build(args, []) is not { } app) return 2;
await app.RunAsync();
return 0;
