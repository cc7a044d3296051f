from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('topups', '0010_mobile'),
    ]

    operations = [
        migrations.RemoveConstraint(model_name='pricerule', name='price_rule_unique'),
        migrations.AddField(
            model_name='pricerule',
            name='plan_code',
            field=models.CharField(blank=True, default='', max_length=64, verbose_name='mobile plan'),
        ),
        migrations.AddField(
            model_name='pricerule',
            name='operator',
            field=models.CharField(blank=True, default='', max_length=32, verbose_name='operator'),
        ),
        migrations.AddConstraint(
            model_name='pricerule',
            constraint=models.UniqueConstraint(fields=('line_type', 'value', 'plan_code', 'operator'),
                                               name='price_rule_unique_target'),
        ),
    ]
