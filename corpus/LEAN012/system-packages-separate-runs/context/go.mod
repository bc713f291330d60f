module example.com/reportd

go 1.19
