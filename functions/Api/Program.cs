using Mesh.Api;
using Mesh.Hosting;

var builder = WebApplication.CreateSlimBuilder(args);
builder.UseMeshLogging();
builder.Services.AddMeshCore(builder.Configuration);
builder.Services.AddApiFunction();

var app = builder.Build();
app.UseMeshDefaults();
app.UseStatusCodePages();
app.MapApiFunction();
app.Run();
