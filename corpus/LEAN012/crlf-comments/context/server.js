require('http')
