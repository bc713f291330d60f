<?php
file_put_contents("cache.php", "<?php return [];");
