using Mesh.Hosting;
using Mesh.XdsServer;

// The xDS server on its own (ECS Fargate in AWS): ADS over HTTP/2 on Ads:Port (default 18000), with TLS and client
// certificates when Ads:Tls:* names the files; /healthz over HTTP/1.1 on Ads:HealthPort (default 8081).
var builder = WebApplication.CreateSlimBuilder(args);
builder.UseMeshLogging();
builder.WebHost.ConfigureKestrel((context, kestrel) => AdsListener.Configure(kestrel, context.Configuration));
builder.Services.AddMeshCore(builder.Configuration);
builder.Services.AddXdsServer();
builder.Services.AddHostedService<HeadPoll>();

var app = builder.Build();
app.UseMeshDefaults();
app.MapXdsServer();
app.Run();
