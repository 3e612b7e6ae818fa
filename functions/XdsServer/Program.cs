using Mesh.XdsServer;

XdsServerHosting.Build(args).Run();
