<?php
namespace App;

final class Greeter
{
}
