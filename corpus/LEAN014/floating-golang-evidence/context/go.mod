module ascii

go 1.21
