module github.com/dbrs-db/dbrs

go 1.26.8
