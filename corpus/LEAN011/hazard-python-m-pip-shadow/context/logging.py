# shadows the stdlib
