module acceptance/go122

go 1.22
