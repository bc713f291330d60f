require "sinatra"
get("/") { "hi" }
